// The package ships no types: its one function, as its README describes it.
declare module 'parse-prometheus-text-format' {
  /** Parses Prometheus' text exposition format into metric families. */
  export default function parsePrometheusTextFormat(text: string): Array<{
    name: string;
    help: string;
    type: string;
    metrics: Array<{ labels?: Record<string, string>; value?: string; buckets?: Record<string, string> }>;
  }>;
}
