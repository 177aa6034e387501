// Sign-in through an identity provider: OAuth 2.0 authorization code with PKCE (RFC 7636, S256),
// as config.json beside the assets describes it ({mode: "oidc", authorization_endpoint,
// token_endpoint, client_id, redirect_uri, scopes}); mode "token" keeps the paste-a-token form.
// The verifier and state live in sessionStorage only for the round trip; the id token the API
// verifies lives in sessionStorage (ui.js session) until sign-out or a 401.

const PENDING = "lendguard.pkce";
let config = { mode: "token" };

/** Read config.json (once, before the first page); a missing file means "token". */
export async function loadConfig() {
  try {
    const res = await fetch("config.json", { cache: "no-store" });
    if (res.ok) config = await res.json();
  } catch { config = { mode: "token" }; }
  return config;
}

export const signInMode = () => config.mode;

function base64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(size) { return base64url(crypto.getRandomValues(new Uint8Array(size))); }

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** Go to the provider's authorize endpoint with a fresh verifier's S256 challenge and a state. */
export async function beginSignIn(after) {
  const verifier = randomString(48); // 64 characters, within RFC 7636's 43..128
  const state = randomString(24);
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, after }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: config.client_id,
    redirect_uri: config.redirect_uri,
    scope: config.scopes.join(" "),
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  location.assign(`${config.authorization_endpoint}?${query}`);
}

export class SignInError extends Error {}

/**
 * Back from the provider (?code=&state= or ?error=): exchange the code with the verifier and
 * return {token, after}; null when this load is no such return. The query is removed from the
 * address bar either way, so a reload never replays a code.
 */
export async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  if (config.mode !== "oidc" || (!params.has("code") && !params.has("error"))) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  sessionStorage.removeItem(PENDING);
  history.replaceState(null, "", location.pathname + location.hash);
  if (params.has("error")) throw new SignInError(params.get("error_description") || params.get("error"));
  if (!pending || pending.state !== params.get("state")) throw new SignInError("state");
  const res = await fetch(config.token_endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code"),
      redirect_uri: config.redirect_uri,
      client_id: config.client_id,
      code_verifier: pending.verifier,
    }),
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok || !data?.id_token) throw new SignInError(data?.error_description || data?.error || `HTTP ${res.status}`);
  return { token: data.id_token, after: pending.after };
}
