// Sign up and log in (one form, two modes). On a SIGNUP=closed server that has its first account, the
// sign-up page says to ask the operator instead.
import { useState, type FormEvent } from "react";
import { useLogin, useRegister, useSignupOpen } from "../../features/auth/api.js";
import { Link, navigate } from "../../app/router.js";
import { ErrorNote } from "../../components/ui.js";

export function AuthPage({ mode }: { mode: "login" | "signup" }) {
  const login = useLogin();
  const register = useRegister();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState("");
  const m = mode === "login" ? login : register;
  const signupOpen = useSignupOpen();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const done = { onSuccess: () => navigate("/") };
    if (mode === "login") login.mutate({ username, password }, done);
    else register.mutate({ username, password, ...(email ? { email } : {}) }, done);
  };
  if (mode === "signup" && signupOpen === false) {
    return (
      <div className="auth">
        <div className="card auth-card" data-testid="signup-closed">
          <h1>Swanhouse</h1>
          <h2>Sign-up is closed</h2>
          <p>Accounts on this server are made by its operator. Ask them for one, then <Link to="/login">log in</Link>.</p>
        </div>
      </div>
    );
  }
  return (
    <div className="auth">
      <form className="card auth-card" onSubmit={submit}>
        <h1>Swanhouse</h1>
        <h2>{mode === "login" ? "Log in" : "Create an account"}</h2>
        <label>
          Username
          <input name="username" autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} />
        </label>
        {mode === "signup" && (
          <label>
            Email (optional)
            <input name="email" type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
        )}
        <label>
          Password
          <input name="password" type="password" autoComplete={mode === "login" ? "current-password" : "new-password"} required minLength={mode === "signup" ? 8 : 1} value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <ErrorNote error={m.error} />
        <button className="btn primary" type="submit" disabled={m.isPending}>
          {mode === "login" ? "Log in" : "Sign up"}
        </button>
        <p className="muted small">
          {mode === "login" ? (
            signupOpen === false ? <>No account? Ask this server&apos;s operator.</> : <>No account? <Link to="/signup">Sign up</Link></>
          ) : (
            <>Have an account? <Link to="/login">Log in</Link></>
          )}
        </p>
      </form>
    </div>
  );
}
