import { z } from "zod";

/**
 * What phase 3 hands to later phases (STATE.json `artifacts.localTest`): the image it tested
 * (phase 4 pushes only that one), its measured seconds to the first healthy /ping (phase 6 sizes
 * the startup health check from it) and the embedding shape get_embedding answered (phase 9
 * expects the same from the endpoint).
 */
export const localTestRecord = z.object({
  testedImageId: z.string().min(1),
  secondsToHealthy: z.number().nonnegative(),
  embeddingShape: z.array(z.number()).optional(),
});
export type LocalTestRecord = z.infer<typeof localTestRecord>;
