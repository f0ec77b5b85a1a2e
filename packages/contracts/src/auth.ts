// Accounts: register (unless sign-up is closed), log in (session cookie), me (and its email settings),
// change the password.
import { z } from "zod";
import { IsoDate, Username } from "./common.js";
import { Workspace } from "./workspaces.js";

/** A new password: at least 8 characters (argon2id takes care of the rest). */
const NewPassword = z.string().min(8).max(200);

export const RegisterBody = z.object({
  username: Username,
  password: NewPassword,
  email: z.email().max(254).optional(),
});
export type RegisterBody = z.infer<typeof RegisterBody>;

export const LoginBody = z.object({
  username: z.string().min(1).max(254),
  password: z.string().min(1).max(200),
});
export type LoginBody = z.infer<typeof LoginBody>;

export const ChangePasswordBody = z.object({
  currentPassword: z.string().min(1).max(200),
  newPassword: NewPassword,
});
export type ChangePasswordBody = z.infer<typeof ChangePasswordBody>;

/** GET /auth/signup: whether the sign-up form can be used on this server (closed servers still take
 * their first account). */
export const SignupResponse = z.object({ open: z.boolean() });
export type SignupResponse = z.infer<typeof SignupResponse>;

export const User = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string().nullable(),
  /** Emailed when a run they created ends (finished, crashed, aborted). */
  notifyRunEnd: z.boolean(),
  createdAt: IsoDate,
});
export type User = z.infer<typeof User>;

/** PATCH /auth/me: null removes the email address. */
export const UpdateMeBody = z.object({
  email: z.email().max(254).nullable().optional(),
  notifyRunEnd: z.boolean().optional(),
});
export type UpdateMeBody = z.infer<typeof UpdateMeBody>;

/** `mail`: whether this server can send email (SMTP_URL is set). */
export const MeResponse = z.object({ user: User, workspaces: z.array(Workspace), mail: z.boolean() });
export type MeResponse = z.infer<typeof MeResponse>;
export const UserResponse = z.object({ user: User });
export type UserResponse = z.infer<typeof UserResponse>;
