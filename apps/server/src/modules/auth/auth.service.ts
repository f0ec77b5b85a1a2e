// Accounts: argon2id password hashes, a personal workspace per user, opaque session tokens stored as
// sha256 (a leaked table does not leak sessions).
import type { Db } from "@swanhouse/db";
import { hash, verify } from "@node-rs/argon2";
import type { RegisterBody, UpdateMeBody, User, Workspace } from "@swanhouse/contracts";
import type { Clock } from "../../app.js";
import { BadRequest, Conflict, HttpError, Unauthorized } from "../../lib/errors.js";
import { newSessionToken, newUuid, sha256 } from "../../lib/ids.js";
import { iso } from "../../lib/serialize.js";

// argon2id (the library's default algorithm), OWASP's minimum: 19 MiB, 2 passes.
const ARGON = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

export function toUser(u: { id: string; username: string; email: string | null; notifyRunEnd: boolean; createdAt: Date }): User {
  return { id: u.id, username: u.username, email: u.email, notifyRunEnd: u.notifyRunEnd, createdAt: iso(u.createdAt) };
}

export const SignupClosed = () =>
  new HttpError(403, "signup_closed", "sign-up is closed on this server: ask its operator for an account (npm run create-user)");

/** `signup`: "closed" lets only the first account register itself (the operator's own). */
export function createAuthService(deps: { db: Pick<Db, "prisma">; clock: Clock; sessionTtlDays: number; signup?: "open" | "closed" }) {
  const { prisma } = deps.db;
  const closed = deps.signup === "closed";

  /** Whether the sign-up form works now: open servers, and closed ones without any account yet. */
  async function signupOpen(): Promise<boolean> {
    return !closed || (await prisma.user.count()) === 0;
  }

  /** `byOperator`: create-user on a closed server. */
  async function register(body: RegisterBody, opts: { byOperator?: boolean } = {}): Promise<User> {
    const mayRegister = opts.byOperator || !closed;
    if (!mayRegister && !(await signupOpen())) throw SignupClosed();
    const passwordHash = await hash(body.password, ARGON);
    const taken = await prisma.workspace.findUnique({ where: { name: body.username } });
    if (taken) throw Conflict(`username '${body.username}' is taken`, "username");
    try {
      const user = await prisma.$transaction(async (tx) => {
        if (!mayRegister) {
          // Two first sign-ups at once: the lock orders them and the second finds the first.
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext('swanhouse:first-signup'))`;
          if ((await tx.user.count()) > 0) throw SignupClosed();
        }
        const u = await tx.user.create({ data: { id: newUuid(), username: body.username, email: body.email ?? null, passwordHash } });
        const ws = await tx.workspace.create({ data: { id: newUuid(), name: body.username, kind: "personal" } });
        await tx.membership.create({ data: { workspaceId: ws.id, userId: u.id, role: "owner" } });
        return u;
      });
      return toUser(user);
    } catch (err) {
      if ((err as { code?: string }).code === "P2002") {
        const field = String((err as { meta?: { target?: unknown } }).meta?.target ?? "").includes("email") ? "email" : "username";
        throw Conflict(`${field} '${field === "email" ? body.email : body.username}' is taken`, field);
      }
      throw err;
    }
  }

  /** Returns the session token (for the cookie) and the user. Same error for a wrong name or password. */
  async function login(username: string, password: string) {
    const user = await prisma.user.findFirst({ where: { OR: [{ username }, { email: username }] } });
    const ok = user ? await verify(user.passwordHash, password).catch(() => false) : false;
    if (!user || !ok) throw Unauthorized("wrong username or password");
    return { token: await createSession(user.id), user: toUser(user) };
  }

  /**
   * Replaces the password after checking the current one, and signs out every other session of the
   * user (a stolen cookie stops working). API keys are separate credentials and stay valid: the
   * settings page revokes them.
   */
  async function changePassword(userId: string, keepSessionToken: string, currentPassword: string, newPassword: string): Promise<void> {
    const user = await prisma.user.findUniqueOrThrow({ where: { id: userId }, select: { passwordHash: true } });
    if (!(await verify(user.passwordHash, currentPassword).catch(() => false))) throw BadRequest("the current password is wrong", "body.currentPassword");
    await setPassword(userId, newPassword, keepSessionToken);
  }

  /** The server operator's reset (admin-cli.ts): no current password, every session signed out.
   * false when there is no such user. */
  async function resetPassword(username: string, newPassword: string): Promise<boolean> {
    const user = await prisma.user.findUnique({ where: { username }, select: { id: true } });
    if (!user) return false;
    await setPassword(user.id, newPassword);
    return true;
  }

  /** The new hash and the sign-out (all sessions but `keepSessionToken`'s) in one transaction. */
  async function setPassword(userId: string, newPassword: string, keepSessionToken?: string): Promise<void> {
    const passwordHash = await hash(newPassword, ARGON);
    const sessions = keepSessionToken ? { userId, id: { not: sha256(keepSessionToken) } } : { userId };
    await prisma.$transaction([
      prisma.user.update({ where: { id: userId }, data: { passwordHash } }),
      prisma.session.deleteMany({ where: sessions }),
    ]);
  }

  /** The user's email address (null removes it) and whether runs ending are mailed to it. */
  async function updateMe(userId: string, body: UpdateMeBody): Promise<User> {
    try {
      return toUser(await prisma.user.update({ where: { id: userId }, data: body }));
    } catch (err) {
      if ((err as { code?: string }).code === "P2002") throw Conflict(`email '${body.email}' is taken`, "body.email");
      throw err;
    }
  }

  async function createSession(userId: string): Promise<string> {
    const token = newSessionToken();
    const expiresAt = new Date(deps.clock.now().getTime() + deps.sessionTtlDays * 86_400_000);
    await prisma.session.create({ data: { id: sha256(token), userId, expiresAt } });
    return token;
  }

  async function logout(token: string | undefined): Promise<void> {
    if (token) await prisma.session.deleteMany({ where: { id: sha256(token) } });
  }

  async function me(userId: string): Promise<{ user: User; workspaces: Workspace[] }> {
    const user = await prisma.user.findUniqueOrThrow({ where: { id: userId } });
    const memberships = await prisma.membership.findMany({ where: { userId }, include: { workspace: true }, orderBy: { createdAt: "asc" } });
    return {
      user: toUser(user),
      workspaces: memberships.map((m) => ({ id: m.workspace.id, name: m.workspace.name, displayName: m.workspace.displayName, kind: m.workspace.kind, role: m.role, createdAt: iso(m.workspace.createdAt) })),
    };
  }

  return { register, signupOpen, login, logout, me, updateMe, createSession, changePassword, resetPassword };
}
