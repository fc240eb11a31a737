// Jetstream times (`time_us`, cursors, replay positions) are microseconds since the Unix epoch.

/** Microseconds since the epoch → ISO time (millisecond precision, rounded down). */
export function isoFromUs(timeUs: number): string {
  return new Date(Math.floor(timeUs / 1000)).toISOString();
}
