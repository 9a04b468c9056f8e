/**
 * Writing the HTML report of a run: from its journal, plus what only the live run knows (the
 * capacity floor it declared, the simulator's camera series). Used by `rollwave report` and at the
 * end of a deploy (always under --simulate, so the demo ends with a picture of what it did).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { JournalRecord } from "../engine/journal.js";
import { renderReportHtml } from "./html.js";
import type { OutputStream, Renderer } from "./output.js";
import { type ReportData, timelineFromJournal } from "./timeline.js";

interface ReportExtras {
  floor?: Record<string, number>;
  cameras?: ReportData["cameras"];
}

export async function writeReport(
  file: string,
  records: JournalRecord[],
  extras: ReportExtras = {},
): Promise<void> {
  const data = timelineFromJournal(records);
  if (extras.floor) data.floor = extras.floor;
  if (extras.cameras) data.cameras = extras.cameras;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, renderReportHtml(data));
}

export interface RunReport {
  file: string;
  journal: () => Promise<JournalRecord[]>;
  extras: () => ReportExtras;
  /** Where to say where it is (`report: <file>`); absent for NDJSON, whose stdout is events only. */
  notify?: OutputStream;
}

/** A renderer that, once the run's renderer has closed, writes the report and says where it is. */
export function withRunReport(inner: Renderer, r: RunReport): Renderer {
  return {
    onEvent: (e) => inner.onEvent(e),
    ...(inner.suspend ? { suspend: () => inner.suspend?.() ?? Promise.resolve() } : {}),
    ...(inner.resume ? { resume: () => inner.resume?.() } : {}),
    async close() {
      await inner.close();
      try {
        await writeReport(r.file, await r.journal(), r.extras());
        r.notify?.write(`report: ${r.file}\n`);
      } catch (err) {
        r.notify?.write(`report not written: ${(err as Error).message}\n`);
      }
    },
  };
}
