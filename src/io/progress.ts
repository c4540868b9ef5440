/** What a long job reports: `done` of `total` units, with an optional short status text (the CLI draws it). */
export type ProgressCallback = (done: number, total: number, status?: string) => void;
