/** A page of results; pass `next` back as `after` to get the following page. `null` at the end. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

/** Paging options. */
export interface PageOptions {
  /** @default 100 (at most 1000) */
  limit?: number;
  /** The `next` cursor of the previous page. */
  after?: string | null;
}
