// /api/v1/auth: register (unless SIGNUP=closed), whether sign-up is open, login (httpOnly SameSite cookie,
// rate-limited), logout, me, password.
import type { FastifyPluginAsyncZod } from "fastify-type-provider-zod";
import rateLimit from "@fastify/rate-limit";
import { ApiError, ChangePasswordBody, LoginBody, MeResponse, OkResponse, RegisterBody, SignupResponse, UpdateMeBody, UserResponse } from "@swanhouse/contracts";
import { Forbidden } from "../../lib/errors.js";
import { requireUser, sessionToken, SESSION_COOKIE } from "../../plugins/auth.js";
import { createAuthService } from "./auth.service.js";

export const authRoutes: FastifyPluginAsyncZod = async (app) => {
  const { env, db, clock } = app.deps;
  const auth = createAuthService({ db, clock, sessionTtlDays: env.SESSION_TTL_DAYS, signup: env.SIGNUP });
  await app.register(rateLimit, { global: false });
  const cookieOpts = { path: "/", httpOnly: true, sameSite: "lax" as const, secure: env.COOKIE_SECURE, maxAge: env.SESSION_TTL_DAYS * 86_400 };

  app.get("/auth/signup", { schema: { tags: ["auth"], summary: "Whether the sign-up form works on this server (no credentials)", response: { 200: SignupResponse } } }, async () => ({ open: await auth.signupOpen() }));
  app.post("/auth/register", { schema: { tags: ["auth"], body: RegisterBody, response: { 201: UserResponse, 400: ApiError, 403: ApiError, 409: ApiError } } }, async (req, reply) => {
    const user = await auth.register(req.body);
    const token = await auth.createSession(user.id);
    return reply.setCookie(SESSION_COOKIE, token, cookieOpts).status(201).send({ user });
  });
  // Per client address; login and password changes each have their own budget.
  const passwordGuessLimit = { rateLimit: { max: env.LOGIN_RATE_LIMIT_PER_MINUTE, timeWindow: "1 minute", keyGenerator: (req: { ip: string }) => req.ip } };
  app.post(
    "/auth/login",
    {
      config: passwordGuessLimit,
      schema: { tags: ["auth"], body: LoginBody, response: { 200: UserResponse, 400: ApiError, 401: ApiError, 429: ApiError } },
    },
    async (req, reply) => {
      const { token, user } = await auth.login(req.body.username, req.body.password);
      return reply.setCookie(SESSION_COOKIE, token, cookieOpts).send({ user });
    },
  );
  app.post("/auth/logout", { schema: { tags: ["auth"], response: { 200: OkResponse } } }, async (req, reply) => {
    await auth.logout(req.cookies[SESSION_COOKIE]);
    return reply.clearCookie(SESSION_COOKIE, { path: "/" }).send({ ok: true as const });
  });
  app.post(
    "/auth/password",
    {
      config: passwordGuessLimit,
      schema: { tags: ["auth"], summary: "Change your password (signed in with the session cookie); your other sessions are signed out", body: ChangePasswordBody, response: { 200: OkResponse, 400: ApiError, 401: ApiError, 403: ApiError, 429: ApiError } },
    },
    async (req) => {
      const actor = requireUser(req);
      const token = sessionToken(req);
      // An API key must not be enough to take over the account that owns it.
      if (actor.via !== "session" || !token) throw Forbidden("change the password from a signed-in browser session, not with an API key");
      await auth.changePassword(actor.userId, token, req.body.currentPassword, req.body.newPassword);
      return { ok: true as const };
    },
  );
  app.get("/auth/me", { schema: { tags: ["auth"], response: { 200: MeResponse, 401: ApiError } } }, async (req) =>
    ({ ...(await auth.me(requireUser(req).userId)), mail: app.services.mail.enabled }),
  );
  app.patch("/auth/me", { schema: { tags: ["auth"], summary: "Your email address and whether runs ending are mailed to you", body: UpdateMeBody, response: { 200: UserResponse, 400: ApiError, 401: ApiError, 409: ApiError } } }, async (req) =>
    ({ user: await auth.updateMe(requireUser(req).userId, req.body) }),
  );
};
