import { truncateVisible } from "./table.ts";

const ESC = "\x1b[";
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const HOME = `${ESC}H`;
const CLEAR_LINE_END = `${ESC}K`;
const CLEAR_SCREEN_END = `${ESC}J`;
const CLEAR_SCREEN = `${ESC}2J`;

/**
 * Redraws a frame in place on a terminal without flicker: the screen is cleared once, then every frame
 * goes home and overwrites each line, clearing only what is left over at the end of each line and below
 * the frame — one write per frame. Lines are cut to the terminal's width and the frame to its height
 * (a wrapped or scrolled line would break the in-place redraw). The cursor is hidden while drawing and
 * shown again by stop(), and on any exit of the process.
 */
export class LiveScreen {
  private started = false;
  private stopped = false;
  private lastLines: string[] = [];
  private readonly restoreOnExit = () => this.restore();
  private readonly onResize = () => this.draw(this.lastLines, true);

  constructor(private readonly stream: NodeJS.WriteStream) {}

  render(lines: string[]): void {
    if (this.stopped) return;
    this.lastLines = lines;
    this.draw(lines, !this.started);
    if (!this.started) {
      this.started = true;
      process.on("exit", this.restoreOnExit);
      this.stream.on("resize", this.onResize);
    }
  }

  /** Leave the last frame on screen, the cursor below it and visible. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    process.off("exit", this.restoreOnExit);
    this.stream.off("resize", this.onResize);
    this.restore();
  }

  private restore(): void {
    if (this.started) this.stream.write(`${SHOW_CURSOR}\n`);
  }

  private draw(lines: string[], clear: boolean): void {
    const fitted = fitFrame(lines, this.stream.columns || 80, this.stream.rows || 24);
    const body = fitted.map((line) => line + CLEAR_LINE_END).join("\n");
    this.stream.write(`${clear ? HIDE_CURSOR + CLEAR_SCREEN : ""}${HOME}${body}${CLEAR_SCREEN_END}`);
  }
}

/** Cut lines to the width and the frame to one line less than the height (so nothing scrolls). */
export function fitFrame(lines: string[], columns: number, rows: number): string[] {
  const height = Math.max(1, rows - 1);
  let shown = lines;
  if (lines.length > height) {
    shown = [...lines.slice(0, height - 1), `… ${lines.length - height + 1} more lines (enlarge the window)`];
  }
  return shown.map((line) => truncateVisible(line, Math.max(1, columns - 1)));
}
