import type { NextFunction, RequestHandler } from 'express';

/**
 * A fixed list of middleware as one router layer. Express matches each layer's path and runs its
 * own bookkeeping per layer on every request; the request prelude and the API's checks always run
 * whole and in order, so each is one layer here. Express's contract holds inside: a handler calls
 * `next()` to go on, and `next(error)`, a throw or a rejected promise fails the request.
 */
export function inSequence(handlers: readonly RequestHandler[]): RequestHandler {
  return (req, res, next) => {
    let index = 0;
    const step: NextFunction = (error?: unknown) => {
      if (error !== undefined && error !== null) return next(error);
      const handler = handlers[index++];
      if (handler === undefined) return next();
      try {
        const result: unknown = handler(req, res, step);
        if (result instanceof Promise) result.then(undefined, (rejection: unknown) => next(rejection ?? new Error('Rejected promise')));
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
}
