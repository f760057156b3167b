// Tests read many JSON bodies of known shape; `any` here keeps assertions readable.
declare global {
  interface Response {
    json(): Promise<any>;
  }
}
export {};
