export {
  ApiAuth,
  allows,
  isLoopback,
  DEFAULT_REVIEW_LINK_TTL_SECONDS,
  MAX_REVIEW_LINK_TTL_SECONDS,
  REVIEW_LINK_HEADER,
  ROLE_PERMISSIONS,
  type Permission,
  type Principal,
  type ReviewLink,
  type ReviewLinkCheck,
  type Role,
} from './auth';
export {
  ApiError,
  ERROR_STATUS,
  installErrorHandlers,
  toApiError,
  type ApiErrorBody,
  type ApiErrorCode,
} from './errors';
export { buildOpenApiDocument } from './openapi';
export { publicView } from './public-view';
export { registerApi, storyIdForKey, type ApiDeps, type StoryClient } from './routes';
export * as apiSchemas from './schemas';
