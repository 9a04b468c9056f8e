// A hand-written per-instance rollout, the way a careful playbook does it (Ansible `serial:` with
// elb_target and SSM): the small-fleet bench's baseline. Same plan, same waves (the planner's
// batches, in order), same simulator, same virtual clock as rollwave's run; every call goes through
// the same paced, counted SDK clients.
//
// Per batch, every host at once (Ansible's forks), each on its own:
//   1. SendCommand drain.preCommand (the shed request; not polled, it is a fire-and-forget signal),
//      then DeregisterTargets from each of its target groups;
//   2. DescribeTargetHealth for the host in each group every 5 s until it is no longer `draining`
//      (the deregistration delay: without a connection reading it cannot tell when it is empty);
//   3. SendCommand with the deploy and validate lines as one script, GetCommandInvocation every
//      5 s until it ends (a failure leaves the host out of service, like failedInstances: keepOut);
//   4. RegisterTargets in each group, DescribeTargetHealth every 5 s until healthy in all of them,
//      then every 5 s for health.stableFor (a flap starts the wait again).
// The next batch starts when every host of this one is done.
import { openClients } from "../../dist/aws/connect.js";

const POLL_MS = 5_000;

/** Run the baseline over `wavePlan` on `fleet`; returns calls by action, makespan and failures. */
export async function baselineRollout({ plan, fleet, wavePlan, sim, clock }) {
  const { clients, counter } = openClients(
    {
      region: sim.region,
      endpointUrl: sim.endpoint,
      credentials: { accessKeyId: "sim", secretAccessKey: "sim" },
      clock,
    },
    false,
  );
  const { elb, ssm } = clients;
  const { DeregisterTargetsCommand, DescribeTargetHealthCommand, RegisterTargetsCommand } = await import(
    "@aws-sdk/client-elastic-load-balancing-v2"
  );
  const { GetCommandInvocationCommand, SendCommandCommand } = await import("@aws-sdk/client-ssm");
  const byId = new Map(fleet.instances.map((i) => [i.id, i]));
  const deadline = (ms) => clock.now() + ms;

  const states = async (host) => {
    const out = [];
    for (const t of host.targets) {
      const r = await elb.send(
        new DescribeTargetHealthCommand({
          TargetGroupArn: t.targetGroupArn,
          Targets: [{ Id: host.id, ...(t.port ? { Port: t.port } : {}) }],
        }),
      );
      out.push(r.TargetHealthDescriptions?.[0]?.TargetHealth?.State ?? "unused");
    }
    return out;
  };
  const targets = (host, t) => [{ Id: host.id, ...(t.port ? { Port: t.port } : {}) }];

  async function run(host, commands, timeoutMs) {
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: "AWS-RunShellScript",
        InstanceIds: [host.id],
        Parameters: { commands },
        TimeoutSeconds: Math.max(30, Math.ceil(timeoutMs / 1000)),
        Comment: `baseline ${plan.name}`,
      }),
    );
    const id = sent.Command?.CommandId;
    const until = deadline(timeoutMs + 60_000);
    for (;;) {
      await clock.sleep(POLL_MS);
      let status;
      try {
        const r = await ssm.send(new GetCommandInvocationCommand({ CommandId: id, InstanceId: host.id }));
        status = r.Status;
      } catch (e) {
        if (e?.name !== "InvocationDoesNotExist") throw e;
      }
      if (status === "Success") return true;
      if (status && !["Pending", "InProgress", "Delayed"].includes(status)) return false;
      if (clock.now() > until) return false;
    }
  }

  async function rollHost(id) {
    const host = byId.get(id);
    if (plan.steps.preDrain) {
      await ssm.send(
        new SendCommandCommand({
          DocumentName: "AWS-RunShellScript",
          InstanceIds: [id],
          Parameters: { commands: plan.steps.preDrain.commands },
          Comment: `baseline ${plan.name}`,
        }),
      );
    }
    for (const t of host.targets) {
      await elb.send(
        new DeregisterTargetsCommand({ TargetGroupArn: t.targetGroupArn, Targets: targets(host, t) }),
      );
    }
    const drainUntil = deadline(plan.drain.timeoutMs);
    do await clock.sleep(POLL_MS);
    while ((await states(host)).includes("draining") && clock.now() < drainUntil);

    const steps = [plan.steps.deploy, plan.steps.validate].filter(Boolean);
    const ok = await run(
      host,
      steps.flatMap((s) => s.commands),
      steps.reduce((a, s) => a + s.timeoutMs, 0),
    );
    if (!ok) return false;

    for (const t of host.targets) {
      await elb.send(
        new RegisterTargetsCommand({ TargetGroupArn: t.targetGroupArn, Targets: targets(host, t) }),
      );
    }
    const healthyUntil = deadline(plan.health.targetHealthyTimeoutMs);
    let healthySince;
    for (;;) {
      await clock.sleep(POLL_MS);
      const healthy = (await states(host)).every((s) => s === "healthy");
      if (!healthy) healthySince = undefined;
      else healthySince ??= clock.now();
      if (healthySince !== undefined && clock.now() - healthySince >= plan.health.stableForMs) return true;
      if (healthySince === undefined && clock.now() > healthyUntil) return false;
    }
  }

  const t0 = clock.now();
  const before = counter.snapshot().total;
  let failed = 0;
  for (const wave of wavePlan.waves) {
    const done = await Promise.all(wave.instances.map((i) => rollHost(i.id)));
    failed += done.filter((ok) => !ok).length;
  }
  const calls = counter.snapshot();
  for (const c of Object.values(clients)) c.destroy();
  const planned = wavePlan.waves.reduce((a, w) => a + w.instances.length, 0);
  return {
    makespanMs: clock.now() - t0,
    planned,
    failed,
    apiCalls: { total: calls.total - before, byAction: calls.byAction, throttled: calls.throttled },
  };
}
