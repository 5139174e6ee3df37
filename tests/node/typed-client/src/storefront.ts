// The checkout page of a shop: look a code up, show what it takes off, redeem it with the order.
import { request, type CouponsClient } from './client';
import { CouponSummary } from './fragments';
import { getFragmentData, graphql } from './gql';
import type { CouponErrorCode, RedeemCouponMutation } from './gql/graphql';

export const CouponByCode = graphql(`
  query CouponByCode($code: String!) {
    couponByCode(code: $code) {
      ...CouponSummary
    }
  }
`);

export const ValidateCoupon = graphql(`
  query ValidateCoupon($input: ValidateCouponInput!) {
    validateCoupon(input: $input) {
      valid
      discountAmount
      finalAmount
      coupon {
        ...CouponSummary
      }
      errors {
        code
        field
        message
      }
    }
  }
`);

export const RedeemCoupon = graphql(`
  mutation RedeemCoupon($input: RedeemCouponInput!) {
    redeemCoupon(input: $input) {
      usage {
        id
        orderId
        discountApplied
        finalAmount
        usedAt
      }
      discountAmount
      finalAmount
      errors {
        code
        field
        message
      }
    }
  }
`);

export interface Cart {
  userId: string;
  orderId: string;
  /** The order value as the shop's own exact text, e.g. "59.90". */
  total: string;
}

/** The service writes exactly two places: the text is ready to show. */
export function formatMoney(amount: string): string {
  return `€${amount}`;
}

/** What the customer reads for each refusal. A code added to the schema fails `tsc` here
 * (the `never` below) until the page says something for it. */
export function refusalMessage(code: CouponErrorCode): string {
  switch (code) {
    case 'NOT_FOUND':
      return 'We do not know this code.';
    case 'INACTIVE':
    case 'EXPIRED':
    case 'EXHAUSTED':
      return 'This code cannot be used any more.';
    case 'NOT_YET_VALID':
      return 'This code is not valid yet.';
    case 'MIN_ORDER_VALUE_NOT_MET':
      return 'Your order is too small for this code.';
    case 'ALREADY_REDEEMED':
    case 'USER_LIMIT_REACHED':
      return 'You have already used this code.';
    case 'ORDER_ALREADY_USED':
      return 'This order already has a coupon.';
    case 'RATE_LIMITED':
      return 'Too many tries: wait a minute.';
    case 'INVALID_INPUT':
    case 'CODE_ALREADY_EXISTS':
      return 'Something went wrong with this code.';
    default: {
      const unhandled: never = code;
      return `Refused (${String(unhandled)}).`;
    }
  }
}

/** The coupon box, before there is a cart: what the code gives. */
export async function describeCode(client: CouponsClient, code: string): Promise<string> {
  const { couponByCode } = await request(client, CouponByCode, { code });
  if (!couponByCode) return refusalMessage('NOT_FOUND');
  const coupon = getFragmentData(CouponSummary, couponByCode);
  // INACTIVE, EXPIRED and EXHAUSTED are error codes too: the same words as a refusal.
  if (coupon.status !== 'ACTIVE') return refusalMessage(coupon.status);
  return coupon.discountType === 'PERCENTAGE'
    ? `${coupon.discountValue} % off`
    : `${formatMoney(coupon.discountValue)} off`;
}

/** The banner under the coupon field, once the cart is known. */
export async function previewDiscount(client: CouponsClient, cart: Cart, code: string) {
  const { validateCoupon } = await request(client, ValidateCoupon, {
    input: { code, userId: cart.userId, orderId: cart.orderId, orderValue: cart.total },
  });
  const [refusal] = validateCoupon.errors;
  if (refusal || !validateCoupon.valid) {
    return refusal ? refusalMessage(refusal.code) : 'This code does not apply.';
  }
  const coupon = getFragmentData(CouponSummary, validateCoupon.coupon);
  const saved = formatMoney(validateCoupon.discountAmount ?? '0.00');
  const until = coupon?.validUntil ? new Date(coupon.validUntil).toLocaleDateString() : null;
  return `You save ${saved}` + (until ? ` (code valid until ${until})` : '');
}

/** Called once the payment went through; safe to call again on a retry. */
export async function redeemOnOrder(client: CouponsClient, cart: Cart, code: string) {
  const { redeemCoupon } = await request(client, RedeemCoupon, {
    input: { code, userId: cart.userId, orderId: cart.orderId, orderValue: cart.total },
  });
  const [refusal] = redeemCoupon.errors;
  if (refusal || !redeemCoupon.usage) {
    return { redeemed: false as const, message: refusal ? refusalMessage(refusal.code) : '' };
  }
  const usedAt: Date = new Date(redeemCoupon.usage.usedAt);
  return {
    redeemed: true as const,
    toPay: formatMoney(redeemCoupon.usage.finalAmount),
    usedAt,
  };
}

export function typeErrorsTheCompilerCatches(client: CouponsClient) {
  void request(client, RedeemCoupon, {
    input: {
      code: 'SUMMER-10',
      userId: 'customer-42',
      orderId: 'order-1001',
      // @ts-expect-error a Decimal is a string: a JS number would round money
      orderValue: 59.9,
    },
  });
  return (data: RedeemCouponMutation) =>
    // @ts-expect-error the field is discountAmount
    data.redeemCoupon.discountAmmount;
}
