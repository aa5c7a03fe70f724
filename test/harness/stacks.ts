// Building dev/prod under the one mock engine (./buildStack.ts); tests import it from here.
export * from "./buildStack";
