// Preloaded with `node --import ./bench/lib/rusage.mjs …` into a process a bench measures from the
// outside (the CLI): at exit it writes that process's own figures — wall time since it started,
// CPU, peak RSS — as JSON to the file named by ROLLWAVE_BENCH_RUSAGE. Only that process is counted
// (a standalone simulator is another process).
import { writeFileSync } from "node:fs";

const file = process.env.ROLLWAVE_BENCH_RUSAGE;
if (file) {
  process.once("exit", () => {
    const r = process.resourceUsage();
    writeFileSync(
      file,
      JSON.stringify({
        wallMs: Math.round(performance.now()),
        cpuUserMs: Math.round(r.userCPUTime / 1000),
        cpuSystemMs: Math.round(r.systemCPUTime / 1000),
        maxRssMB: Math.round(r.maxRSS / 1024),
      }),
    );
  });
}
