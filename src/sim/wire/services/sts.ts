import type { QueryService } from "./types.js";

/** STS: only GetCallerIdentity, so the engine's account guard can be exercised. */
export const stsService: QueryService = {
  name: "STS",
  protocol: "query",
  version: "2011-06-15",
  signingName: "sts",
  xmlNamespace: "https://sts.amazonaws.com/doc/2011-06-15/",
  actions: {
    GetCallerIdentity(_p, world) {
      const id = world.getCallerIdentity();
      return { UserId: id.userId, Account: id.account, Arn: id.arn };
    },
  },
};
