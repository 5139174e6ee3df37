"""Pure coupon rules: no I/O, no GraphQL, no SQL."""
