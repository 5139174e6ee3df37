import { graphql } from './gql';

// What every screen shows of a coupon.
export const CouponSummary = graphql(`
  fragment CouponSummary on Coupon {
    id
    code
    status
    discountType
    discountValue
    maxDiscountAmount
    minOrderValue
    validUntil
  }
`);
