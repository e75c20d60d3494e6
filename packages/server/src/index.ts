export { createApp, type AppEnv, type CreateAppOptions, type McpStoreApp, type MetricsSource } from "./create-app.js";
export { serve, type FetchApp, type RunningServer, type ServeOptions } from "./serve.js";
export { loadApiTokens, isReadableByOthers, TokenIndex, type ApiTokens, type LoadApiTokensOptions, type Principal } from "./api-tokens.js";
export { ApiError, type ApiErrorCode } from "./api-error.js";
export { ERROR_STATUS, errorResponse, type ErrorBody } from "./error-status.js";
export { LOOPBACK_HOSTS, type RequestGuardOptions } from "./request-guard.js";
export { SCOPE_ROUTES, type ScopeRoute } from "./scope-routes.js";
