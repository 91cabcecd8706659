import { didYouMean } from "../config/format-issues.js";
import { UserError } from "../engine/errors.js";

/**
 * Regions where SageMaker runs (AWS's "Amazon SageMaker endpoints and quotas" page, commercial,
 * GovCloud and China partitions). A region missing here is refused by `gen3d init`; add it when
 * AWS opens SageMaker there.
 */
export const SAGEMAKER_REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "ca-central-1",
  "ca-west-1",
  "mx-central-1",
  "sa-east-1",
  "eu-central-1",
  "eu-central-2",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "eu-north-1",
  "eu-south-1",
  "eu-south-2",
  "il-central-1",
  "me-south-1",
  "me-central-1",
  "af-south-1",
  "ap-east-1",
  "ap-south-1",
  "ap-south-2",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ap-southeast-4",
  "ap-southeast-5",
  "ap-southeast-7",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "us-gov-west-1",
  "us-gov-east-1",
  "cn-north-1",
  "cn-northwest-1",
] as const;

export function isSagemakerRegion(region: string): boolean {
  return (SAGEMAKER_REGIONS as readonly string[]).includes(region);
}

/**
 * Refuses a region SageMaker does not run in, before any network call (a typo such as
 * `us-esat-1` would otherwise end as a DNS failure on sts.us-esat-1.amazonaws.com). `where` says
 * which setting the user should change.
 */
export function assertSagemakerRegion(region: string, where = "aws.region"): void {
  if (isSagemakerRegion(region)) return;
  const near = didYouMean(region, SAGEMAKER_REGIONS);
  throw new UserError("REGION_UNKNOWN", `${where} ${region}: SageMaker does not run in this region`, {
    hint: near
      ? `Did you mean ${near}? Set ${where} to a region where SageMaker runs.`
      : `Set ${where} to a region where SageMaker runs, e.g. ${SAGEMAKER_REGIONS.slice(0, 4).join(", ")}.`,
  });
}

/** Where an hourly price comes from: the region it was read for, when, and from where. */
export interface PriceBook {
  /** The region whose prices the catalog holds. */
  region: string;
  source: string;
  /** When the prices were read from the source. */
  date: string;
}

/**
 * The instance catalog's prices are SageMaker real-time inference on-demand prices in us-east-1.
 * SageMaker lists the same on-demand prices for US East (Ohio) and US West (Oregon); every other
 * region is priced differently (usually higher) and gen3d does not know by how much, so it says so
 * instead of guessing.
 */
export const CATALOG_PRICES: PriceBook = {
  region: "us-east-1",
  source: "aws.amazon.com/sagemaker/pricing, real-time inference, on-demand",
  date: "2025",
};
const SAME_PRICES_AS_CATALOG = new Set(["us-east-1", "us-east-2", "us-west-2"]);

export interface RegionPrices extends PriceBook {
  /** The region asked about. */
  requested: string;
  /** Whether the prices are that region's own (false: us-east-1's, shown as a lower bound). */
  exact: boolean;
  /** One sentence for the output: whose prices these are. */
  note: string;
}

export function pricesFor(region: string): RegionPrices {
  const exact = SAME_PRICES_AS_CATALOG.has(region);
  const note = exact
    ? region === CATALOG_PRICES.region
      ? `${region} prices, ${CATALOG_PRICES.source}, read ${CATALOG_PRICES.date}`
      : `${region} prices (the same on-demand prices as us-east-1), ${CATALOG_PRICES.source}, read ${CATALOG_PRICES.date}`
    : `us-east-1 prices: gen3d knows no prices for ${region}, which usually costs more (${CATALOG_PRICES.source}, read ${CATALOG_PRICES.date}); check the pricing page for ${region}`;
  return {
    ...CATALOG_PRICES,
    region: exact ? region : CATALOG_PRICES.region,
    requested: region,
    exact,
    note,
  };
}
