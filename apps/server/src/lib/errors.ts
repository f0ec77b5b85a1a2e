// Errors a service throws; the error plugin turns each into a JSON answer with its status.
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}
export const BadRequest = (message: string, field?: string) => new HttpError(400, "bad_request", message, field);
export const Unauthorized = (message = "authentication required: send a session cookie or `Authorization: Bearer <api key>`") =>
  new HttpError(401, "unauthorized", message);
export const Forbidden = (message: string) => new HttpError(403, "forbidden", message);
export const NotFound = (message: string) => new HttpError(404, "not_found", message);
export const Conflict = (message: string, field?: string) => new HttpError(409, "conflict", message, field);
