/** SSM Parameter Store in the model: enough for rollwave's run lock (atomic create-if-absent). */
import { SimApiError, type SimParameter } from "./api.js";

export class Parameters {
  private readonly params = new Map<string, SimParameter>();

  put(
    p: { name: string; value: string; type?: string; overwrite: boolean },
    now: number,
  ): { version: number } {
    const existing = this.params.get(p.name);
    if (existing && !p.overwrite) {
      throw new SimApiError(
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
      );
    }
    const type = (p.type ?? existing?.type ?? "String") as SimParameter["type"];
    if (!["String", "StringList", "SecureString"].includes(type)) {
      throw new SimApiError("ValidationException", `Parameter type ${type} is not valid`);
    }
    const version = (existing?.version ?? 0) + 1;
    this.params.set(p.name, { name: p.name, value: p.value, type, version, lastModifiedAt: now });
    return { version };
  }

  get(name: string): SimParameter {
    const p = this.params.get(name);
    if (!p) throw new SimApiError("ParameterNotFound", `Parameter ${name} not found.`);
    return { ...p };
  }

  delete(name: string): void {
    if (!this.params.delete(name)) throw new SimApiError("ParameterNotFound", `Parameter ${name} not found.`);
  }
}
