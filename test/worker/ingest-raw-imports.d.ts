// Vite's `?raw` imports (the text of a file), used by the ingestion unit tests to read real fixtures.
declare module "*?raw" {
  const text: string;
  export default text;
}
