/**
 * The public API: an API Gateway REST API (v1) in front of the API Lambda, every method but the
 * CORS preflight requiring an API key, a usage plan (throttle and daily quota) and one key on it.
 *
 * Raw `aws.apigateway.*` rather than `sst.aws.ApiGatewayV1`: `apiKeyRequired` on each method is
 * the property under test, and SST's component sets it inside itself where tests cannot see it.
 * The shape is the same as SST's: one `ANY /v1/{proxy+}` route with a Lambda proxy integration.
 *
 * The key's value also goes to the Lambda (VIDPIPE_API_KEYS), whose routes check it again; a
 * request without a valid key is refused by API Gateway itself before the Lambda runs, with a body
 * in the API's own error shape (gateway responses below) rather than `{"message":"Forbidden"}`.
 *
 * CORS: a browser's preflight is an `OPTIONS` request that cannot carry `x-api-key`, so `OPTIONS`
 * is its own method without a key, routed to the same Lambda, which answers it (and adds the
 * headers to every other response) from VIDPIPE_CORS_ORIGINS, as `vidpipe serve` does
 * (src/entry/http/cors.ts). API Gateway: "For a Lambda proxy integration or HTTP proxy
 * integration, you can still set up the required OPTIONS response headers in API Gateway. However,
 * your backend is responsible for returning the Access-Control-Allow-Origin and
 * Access-Control-Allow-Headers headers, because a proxy integration doesn't return an integration
 * response." (Developer Guide, "Enabling CORS for a REST API resource"). A MOCK integration could
 * only answer one fixed origin; the Lambda answers the configured list. Keyless preflights are not
 * under the usage plan, so the stage throttles the `OPTIONS` method itself.
 */
import * as aws from "@pulumi/aws"
import * as pulumi from "@pulumi/pulumi"
import type { LambdaHandle } from "./lambdas.ts"
import type { DeploySettings } from "./settings.ts"

/** Made first: the API Lambda's environment holds its value. */
export const apiKey = (settings: DeploySettings) =>
  new aws.apigateway.ApiKey("ApiKey", {
    name: `${settings.prefix}-default`,
    description: "vidpipe API key (x-api-key)",
    enabled: true
  })

export const restApi = (settings: DeploySettings, handler: LambdaHandle, key: aws.apigateway.ApiKey) => {
  const api = new aws.apigateway.RestApi("Api", {
    name: `${settings.prefix}-api`,
    description: "vidpipe API",
    endpointConfiguration: { types: "REGIONAL" },
    apiKeySource: "HEADER",
    // Bodies reach the Lambda base64-encoded whatever their type (apiGatewayProxy.ts decodes them).
    binaryMediaTypes: ["*/*"]
  })
  const v1 = new aws.apigateway.Resource("ApiV1", { restApi: api.id, parentId: api.rootResourceId, pathPart: "v1" })
  const proxy = new aws.apigateway.Resource("ApiV1Proxy", { restApi: api.id, parentId: v1.id, pathPart: "{proxy+}" })
  const method = new aws.apigateway.Method("ApiV1ProxyAny", {
    restApi: api.id,
    resourceId: proxy.id,
    httpMethod: "ANY",
    authorization: "NONE",
    apiKeyRequired: true
  })
  const integration = new aws.apigateway.Integration("ApiV1ProxyLambda", {
    restApi: api.id,
    resourceId: proxy.id,
    httpMethod: method.httpMethod,
    type: "AWS_PROXY",
    integrationHttpMethod: "POST",
    uri: handler.invokeArn
  })
  const preflight = new aws.apigateway.Method("ApiV1ProxyOptions", {
    restApi: api.id,
    resourceId: proxy.id,
    httpMethod: "OPTIONS",
    authorization: "NONE",
    apiKeyRequired: false
  })
  const preflightIntegration = new aws.apigateway.Integration("ApiV1ProxyOptionsLambda", {
    restApi: api.id,
    resourceId: proxy.id,
    httpMethod: preflight.httpMethod,
    type: "AWS_PROXY",
    integrationHttpMethod: "POST",
    uri: handler.invokeArn
  })
  const invoke = new aws.lambda.Permission("ApiInvokesLambda", {
    action: "lambda:InvokeFunction",
    function: handler.name,
    principal: "apigateway.amazonaws.com",
    sourceArn: pulumi.interpolate`${api.executionArn}/*/*/v1/*`
  })
  const methods = [method, preflight]
  // API Gateway's own refusals, in the shape every other API error has: {"error":{"_tag","message"}}.
  // It cannot tell a missing key from a wrong one (both are INVALID_API_KEY), so both are 403.
  const gatewayError = (name: string, responseType: string, statusCode: string, tag: string, message: string) =>
    new aws.apigateway.Response(name, {
      restApiId: api.id,
      responseType,
      statusCode,
      responseTemplates: { "application/json": JSON.stringify({ error: { _tag: tag, message } }) },
      responseParameters: { "gatewayresponse.header.Access-Control-Allow-Origin": "'*'" }
    })
  const gatewayResponses = [
    gatewayError("ApiKeyRefused", "INVALID_API_KEY", "403", "InvalidApiKey", "a valid API key is required in the x-api-key header"),
    gatewayError("ApiUnknownRoute", "MISSING_AUTHENTICATION_TOKEN", "404", "NotFound", "no such route; the API is under /v1"),
    gatewayError("ApiThrottled", "THROTTLED", "429", "Throttled", "too many requests for this API key; slow down and retry"),
    gatewayError("ApiQuotaExceeded", "QUOTA_EXCEEDED", "429", "QuotaExceeded", "this API key's daily quota is used up")
  ]
  const deployment = new aws.apigateway.Deployment("ApiDeployment", {
    restApi: api.id,
    description: "vidpipe API",
    // A new deployment whenever a method or integration changes.
    triggers: {
      redeployment: pulumi.jsonStringify([
        v1.id,
        proxy.id,
        ...methods.map((m) => [m.id, m.apiKeyRequired]),
        ...[integration, preflightIntegration].map((i) => [i.id, i.uri])
      ])
    }
  }, { dependsOn: [...methods, integration, preflightIntegration, ...gatewayResponses] })
  const stage = new aws.apigateway.Stage("ApiStage", {
    restApi: api.id,
    deployment: deployment.id,
    stageName: settings.api.stageName
  })
  // `{resource_path}/{http_method}` without the leading slash (the resources above); the same rate
  // as one key's usage plan.
  const preflightThrottle = new aws.apigateway.MethodSettings("ApiPreflightThrottle", {
    restApi: api.id,
    stageName: stage.stageName,
    methodPath: "v1/{proxy+}/OPTIONS",
    settings: { throttlingRateLimit: settings.api.rateLimit, throttlingBurstLimit: settings.api.burstLimit }
  })
  const usagePlan = new aws.apigateway.UsagePlan("ApiUsagePlan", {
    name: `${settings.prefix}-default`,
    description: "Per-key throttle and daily quota",
    apiStages: [{ apiId: api.id, stage: stage.stageName }],
    throttleSettings: { rateLimit: settings.api.rateLimit, burstLimit: settings.api.burstLimit },
    quotaSettings: { limit: settings.api.quotaPerDay, period: "DAY" }
  })
  const usagePlanKey = new aws.apigateway.UsagePlanKey("ApiUsagePlanKey", {
    keyId: key.id,
    keyType: "API_KEY",
    usagePlanId: usagePlan.id
  })
  return { api, v1, proxy, methods, gatewayResponses, integration, preflightIntegration, preflightThrottle, invoke, deployment, stage, usagePlan, usagePlanKey, url: stage.invokeUrl }
}
