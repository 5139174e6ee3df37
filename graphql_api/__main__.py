from graphql_api.cli import main

main()
