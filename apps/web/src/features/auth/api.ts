// Accounts: who am I (null when logged out), whether sign-up is open, sign up, log in, log out, change
// the password, email settings.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { MeResponse, OkResponse, SignupResponse, UserResponse, type ChangePasswordBody, type LoginBody, type RegisterBody, type UpdateMeBody } from "@swanhouse/contracts";
import { api, ApiRequestError } from "../../api/http.js";

export function useMe() {
  return useQuery({
    queryKey: ["me"],
    queryFn: async () => {
      try {
        return await api(MeResponse, "/auth/me");
      } catch (err) {
        if (err instanceof ApiRequestError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: 60_000,
  });
}

/** false on a SIGNUP=closed server that has its first account; undefined while loading. */
export const useSignupOpen = () =>
  useQuery({ queryKey: ["signup"], queryFn: async () => (await api(SignupResponse, "/auth/signup")).open, staleTime: 60_000 }).data;

export function useLogin() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: LoginBody) => api(UserResponse, "/auth/login", { method: "POST", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["me"] }),
  });
}

export function useRegister() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: RegisterBody) => api(UserResponse, "/auth/register", { method: "POST", body }),
    onSuccess: () => Promise.all([qc.invalidateQueries({ queryKey: ["me"] }), qc.invalidateQueries({ queryKey: ["signup"] })]),
  });
}

export function useLogout() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => api(OkResponse, "/auth/logout", { method: "POST" }),
    onSuccess: () => qc.clear(),
  });
}

/** The server signs out the user's other sessions; this one stays. */
export function useChangePassword() {
  return useMutation({ mutationFn: (body: ChangePasswordBody) => api(OkResponse, "/auth/password", { method: "POST", body }) });
}

/** Email address and run-end notices; `me` is refreshed with the answer. */
export function useUpdateMe() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdateMeBody) => api(UserResponse, "/auth/me", { method: "PATCH", body }),
    onSuccess: () => qc.invalidateQueries({ queryKey: ["me"] }),
  });
}
