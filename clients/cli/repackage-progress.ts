/**
 * The repackager's progress for people: on a terminal, a bar per download step (files done of the files the
 * target resolved to) and a line per other step; elsewhere (CI logs, pipes) plain lines on stderr. With
 * --json nothing is shown, stdout keeps its one JSON document.
 */
import cliProgress from "cli-progress";
import type { RepackageProgress } from "../../server/src/repackage/types.js";

export interface ProgressDisplay {
  update(progress: RepackageProgress): void;
  stop(): void;
}

export function createProgressDisplay(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressDisplay {
  if (json) return { update: () => undefined, stop: () => undefined };
  if (!stream.isTTY) {
    return {
      update: (p) => stream.write(`${p.stage}${p.platform ? ` [${p.platform}]` : ""}${p.total ? ` ${p.completed ?? 0}/${p.total}` : ""}: ${p.message}\n`),
      stop: () => undefined,
    };
  }
  // Bars while files download; a line for anything else, once the bars of the step before are drawn for good
  // (a MultiBar holds back lines logged through it until its next redraw, which a stop never does).
  let bars: cliProgress.MultiBar | undefined;
  const byPlatform = new Map<string, cliProgress.SingleBar>();
  const finishBars = (): void => {
    bars?.stop();
    bars = undefined;
    byPlatform.clear();
  };
  return {
    update(p) {
      if (p.stage === "download" && p.total) {
        bars ??= new cliProgress.MultiBar(
          { stream, format: " {stage} {platform} |{bar}| {value}/{total} {message}", barsize: 24, hideCursor: true, clearOnComplete: false, stopOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        const key = p.platform ?? "";
        let bar = byPlatform.get(key);
        if (!bar) {
          bar = bars.create(p.total, 0, { stage: "download", platform: key, message: "" });
          byPlatform.set(key, bar);
        }
        bar.update(p.completed ?? 0, { message: p.message });
        return;
      }
      finishBars();
      stream.write(`${p.stage}${p.platform ? ` [${p.platform}]` : ""}: ${p.message}\n`);
    },
    stop: finishBars,
  };
}
