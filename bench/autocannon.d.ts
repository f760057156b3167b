// The slice of autocannon's API that bench/run.ts uses (the package ships no types).
declare module 'autocannon' {
  interface Client {
    setBody(body: string): void;
    setHeaders(headers: Record<string, string>): void;
  }
  interface RequestData {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
  }
  interface Request extends RequestData {
    /** Called before each request this entry sends; returns what to send. */
    setupRequest?: (request: RequestData, context: Record<string, unknown>) => RequestData;
  }
  interface Options {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    duration?: number;
    timeout?: number;
    setupClient?: (client: Client) => void;
    requests?: Request[];
  }
  interface Histogram {
    mean: number;
    p50: number;
    p90: number;
    p99: number;
    max: number;
  }
  interface Result {
    duration: number;
    latency: Histogram;
    requests: Histogram & { total: number; average: number };
    errors: number;
    timeouts: number;
    non2xx: number;
    '2xx': number;
  }
  function autocannon(options: Options): Promise<Result>;
  namespace autocannon {
    export type { Options, Result, Client, RequestData, Request };
  }
  export default autocannon;
}
