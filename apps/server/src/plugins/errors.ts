// One JSON error shape for every failure: {error: {code, message, field?, issues?}}. Validation errors
// name the field; unknown errors are logged and answered as 500 without internals.
import type { FastifyError, FastifyInstance } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import { HttpError } from "../lib/errors.js";

type Issue = { field: string; message: string };

function zodIssues(err: { validation: Array<{ instancePath?: string; message?: string; params?: unknown }> }, context: string): Issue[] {
  return err.validation.map((v) => {
    const path = (v.instancePath ?? "").replace(/^\//, "").replace(/\//g, ".");
    return { field: path ? `${context}.${path}` : context, message: v.message ?? "invalid" };
  });
}

export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof HttpError) {
      return reply.status(err.statusCode).send({ error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      const context = (err as FastifyError).validationContext ?? "body";
      const issues = zodIssues(err, context);
      const first = issues[0]!;
      return reply.status(400).send({
        error: { code: "validation_error", message: `${first.field}: ${first.message}`, field: first.field, issues },
      });
    }
    if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || err.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || (err.statusCode === 400 && err instanceof SyntaxError)) {
      return reply.status(400).send({ error: { code: "invalid_json", message: `body is not valid JSON: ${err.message}`, field: "body" } });
    }
    if (err.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return reply.status(413).send({ error: { code: "body_too_large", message: err.message, field: "body" } });
    }
    if (err.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      return reply.status(415).send({ error: { code: "unsupported_media_type", message: err.message } });
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: { code: err.code ?? "bad_request", message: err.message } });
    }
    req.log.error({ err }, "unhandled error");
    return reply.status(500).send({ error: { code: "internal", message: "internal server error" } });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.status(404).send({ error: { code: "not_found", message: `no route ${req.method} ${req.url.split("?")[0]}` } }),
  );
}
