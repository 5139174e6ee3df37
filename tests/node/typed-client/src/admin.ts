// The back office: create coupons, and page through what a customer holds.
import { request, type CouponsClient } from './client';
import { CouponSummary } from './fragments';
import { getFragmentData, graphql, type FragmentType } from './gql';
import type { CreateTimedCouponInput, UserCouponsQuery } from './gql/graphql';

export const CreateTimedCoupon = graphql(`
  mutation CreateTimedCoupon($input: CreateTimedCouponInput!) {
    createTimedCoupon(input: $input) {
      coupon {
        ...CouponSummary
        validFrom
        maxTotalUses
        createdAt
      }
      errors {
        code
        field
        message
      }
    }
  }
`);

export const CreateUserCoupon = graphql(`
  mutation CreateUserCoupon($input: CreateUserCouponInput!) {
    createUserCoupon(input: $input) {
      coupon {
        ...CouponSummary
        userId
      }
      errors {
        code
        field
        message
      }
    }
  }
`);

export const UserCoupons = graphql(`
  query UserCoupons($userId: String!, $first: Int, $after: String) {
    userCoupons(userId: $userId, first: $first, after: $after) {
      totalCount
      edges {
        cursor
        node {
          ...CouponSummary
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

/** The campaign form, as the admin filled it in. */
export interface CampaignForm {
  code: string;
  percentOff: string;
  capPerOrder: string;
  starts: Date;
  ends: Date;
  uses: number;
}

/** Saves the form; a refusal comes back keyed by the form field it is about. */
export async function saveCampaign(client: CouponsClient, form: CampaignForm) {
  const input: CreateTimedCouponInput = {
    code: form.code,
    discountType: 'PERCENTAGE',
    discountValue: form.percentOff,
    maxDiscountAmount: form.capPerOrder,
    // A DateTime is ISO 8601 text; toISOString() writes UTC with a Z, which the service reads.
    validFrom: form.starts.toISOString(),
    validUntil: form.ends.toISOString(),
    maxUsesPerUser: 1,
    maxTotalUses: form.uses,
    createdBy: 'back-office',
  };
  const { createTimedCoupon } = await request(client, CreateTimedCoupon, { input });
  const fieldErrors: Record<string, string> = {};
  for (const error of createTimedCoupon.errors) {
    fieldErrors[error.field ?? 'form'] = error.message;
  }
  const coupon = createTimedCoupon.coupon;
  if (!coupon) return { saved: false as const, fieldErrors };
  const { id } = getFragmentData(CouponSummary, coupon);
  return { saved: true as const, id, createdAt: new Date(coupon.createdAt) };
}

/** A goodwill coupon from customer service: 10 off orders of 30 or more. */
export async function giveGoodwillCoupon(client: CouponsClient, userId: string) {
  const { createUserCoupon } = await request(client, CreateUserCoupon, {
    input: { userId, discountType: 'FIXED', discountValue: '10.00', minOrderValue: '30.00' },
  });
  const [refusal] = createUserCoupon.errors;
  if (refusal) throw new Error(`${refusal.code}: ${refusal.message}`);
  const coupon = createUserCoupon.coupon;
  return coupon ? getFragmentData(CouponSummary, coupon).code : null;
}

export interface CouponRow {
  code: string;
  status: string;
  /** e.g. "15.00 %" or "10.00 off" */
  discount: string;
  expires: string;
}

function toRow(fragment: FragmentType<typeof CouponSummary>): CouponRow {
  const coupon = getFragmentData(CouponSummary, fragment);
  return {
    code: coupon.code,
    status: coupon.status === 'ACTIVE' ? 'usable' : coupon.status.toLowerCase(),
    discount:
      coupon.discountType === 'PERCENTAGE'
        ? `${coupon.discountValue} %`
        : `${coupon.discountValue} off`,
    expires: coupon.validUntil ?? 'never',
  };
}

/** Every coupon of a customer, page by page: each page's endCursor asks for the next. */
export async function allCouponsOf(client: CouponsClient, userId: string): Promise<CouponRow[]> {
  const rows: CouponRow[] = [];
  let after: string | null = null;
  do {
    const variables = { userId, first: 100, after };
    // Annotated: `after` feeds the call whose answer sets it, which TypeScript cannot infer.
    const page: UserCouponsQuery = await request(client, UserCoupons, variables);
    rows.push(...page.userCoupons.edges.map((edge) => toRow(edge.node)));
    const { hasNextPage, endCursor } = page.userCoupons.pageInfo;
    after = hasNextPage ? (endCursor ?? null) : null;
  } while (after !== null);
  return rows;
}
