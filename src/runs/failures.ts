import {
  BadRequestError,
  GatewayError,
  GatewayTimeoutError,
  InternalError,
  RateLimitError,
  RunAbortedError,
  ServiceUnavailableError,
  UpstreamError,
} from '../errors.ts';
import { ProviderError } from '../providers/types.ts';

/** Why a run's own abort signal fired. */
export type AbortCause = 'client' | 'timeout' | 'shutdown';

/** A failure anywhere in a run as the domain error its transport will render. */
export function runFailure(error: unknown, context: { agentId: string; timeoutSeconds: number; aborted?: AbortCause; runId: string }): GatewayError {
  if (context.aborted === 'timeout') {
    return new GatewayTimeoutError(`Agent ${context.agentId} did not finish within its timeout of ${context.timeoutSeconds} s.`, { code: 'agent_timeout', cause: error });
  }
  if (context.aborted === 'shutdown') {
    return new ServiceUnavailableError('The gateway is shutting down and cut this run at its shutdown grace limit (gateway.http.shutdownGraceMs); send it again.', {
      code: 'shutting_down',
      retryAfterSeconds: 1,
      cause: error,
    });
  }
  if (context.aborted === 'client') return new RunAbortedError(`Run ${context.runId} was aborted by the client.`, { code: 'run_aborted', cause: error });
  if (error instanceof GatewayError) return error;
  if (error instanceof ProviderError) return providerFailure(error);
  return new InternalError('The gateway failed to handle this request. It has been logged.', { code: 'internal_error', cause: error });
}

function providerFailure(error: ProviderError): GatewayError {
  switch (error.kind) {
    case 'rate_limited':
      return new RateLimitError(`Provider ${error.provider} is rate limiting requests; retry later.`, {
        code: 'upstream_rate_limited',
        retryAfterSeconds: error.details.retryAfterSeconds !== undefined ? Math.ceil(error.details.retryAfterSeconds) : undefined,
      });
    case 'unauthorized':
      return new UpstreamError(`Provider ${error.provider} refused the gateway's credentials; check models.providers.${error.provider}.apiKey.`, { code: 'upstream_auth_failed' });
    case 'rejected':
      return new BadRequestError(error.message, { code: 'upstream_rejected' });
    case 'malformed':
      return new UpstreamError(`Provider ${error.provider} sent an invalid response.`, { code: 'upstream_malformed' });
    case 'misconfigured':
      return new UpstreamError(error.message, { code: 'upstream_misconfigured' });
    case 'unavailable':
      return new UpstreamError(error.message, { code: 'upstream_unavailable' });
  }
}
