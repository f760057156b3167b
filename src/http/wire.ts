// The wire types the HTTP layer writes, all generated from openapi/openapi.yaml.
export type {
  CreateChatCompletionRequest,
  CreateChatCompletionResponse,
  CreateChatCompletionStreamResponse,
  CompletionUsage as Usage,
  ListModelsResponse,
  Model,
  HealthResponse,
  ReadyResponse,
  BackingStoreStatus,
} from '../../generated/index.ts';
