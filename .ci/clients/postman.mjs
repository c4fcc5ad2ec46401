// Postman's way to the API: openapi-to-postmanv2 converts the served document into a
// collection, and newman runs every request of it against a live server, given nothing but an
// environment of the base URL, the client id and the client secret.
//
// The converter maps the document's security onto Postman auth types, taking the first
// requirement of each operation it can map: `http` `basic` becomes `basic` auth with
// {{basicAuthUsername}} and {{basicAuthPassword}}, `http` `bearer` becomes `bearer` auth with
// {{bearerToken}}, and `oauth2` becomes `oauth2` auth, which newman cannot use (it runs no
// OAuth2 flow; it only sends an access token the collection already holds). `servers[0]`
// becomes the {{baseUrl}} collection variable, which the environment overrides. So the
// collection gets its token by itself: its own POST /oauth/token request, with Basic from the
// environment, answers the token, which the runs of the whole collection are given as
// newman's `bearerToken` variable (the one step outside the collection: newman keeps no value
// from an answer without a script, and the converter writes none).
//
// The document is converted twice: with its examples as the values to send
// (`parametersResolution: Example`), and with the values the converter's schema faker makes up
// (its default). The token comes from the first collection's token request, whose form is the
// document's example (`grant_type` alone, the client going as Basic); the faker's version of
// that request adds made-up `client_id` and `client_secret` to Basic, which the server refuses
// (400, as RFC 6749 says), so the second collection is given the same token. Each collection is
// run whole; the run fails on a request newman could not send, a request without an answer,
// any 401 or 403, and any 5xx.
//
// Usage: node postman.mjs DOCUMENT.json   (environment: API, CLIENT_ID, CLIENT_SECRET)
import { readFileSync } from "node:fs";
import Converter from "openapi-to-postmanv2";
import newman from "newman";

const [docPath] = process.argv.slice(2);
const env = (name) => process.env[name] || fail(`${name} is not set`);
const document = JSON.parse(readFileSync(docPath, "utf8"));

function fail(message) {
  console.error(`postman: ${message}`);
  process.exit(1);
}

function convert(options) {
  return new Promise((resolve) =>
    Converter.convertV2({ type: "json", data: document }, options, (err, result) => {
      if (err || !result.result) fail(`the document does not convert: ${err ?? result.reason}`);
      resolve(result.output[0].data);
    }),
  );
}

function requests(items, out = []) {
  for (const item of items) {
    if (item.item) requests(item.item, out);
    else out.push(item);
  }
  return out;
}

// The event stream (Server-Sent Events) answers and then stays open for as long as the client
// listens, so a runner that waits for each answer's end would wait forever: it is left out
// here (the server's own tests follow it over HTTP, drop it and resume it).
const STREAMS = ["api/v2/events/stream"];
function withoutStreams(items) {
  return items
    .filter((i) => i.item || !STREAMS.includes(i.request.url.path?.join("/")))
    .map((i) => (i.item ? { ...i, item: withoutStreams(i.item) } : i));
}

function auth(item) {
  const a = item.request.auth;
  if (!a) return "inherited";
  const vals = (a[a.type] ?? []).map((p) => `${p.key}=${p.value}`).sort().join(" ");
  return `${a.type} ${vals}`.trim();
}

// Runs the collection (or one item of it), calling `onAnswer` with each request's answer.
function run(collection, envVar, folder, onAnswer = () => {}) {
  return new Promise((resolve) =>
    newman
      .run({ collection, envVar, folder, reporters: [] }, (err, summary) => {
        if (err) fail(`newman did not run: ${err.message}`);
        resolve(summary);
      })
      .on("request", (err, args) => onAnswer(err, args.response)),
  );
}

const environment = [
  { key: "baseUrl", value: env("API") },
  { key: "basicAuthUsername", value: env("CLIENT_ID") },
  { key: "basicAuthPassword", value: env("CLIENT_SECRET") },
];

const modes = [
  ["examples", { parametersResolution: "Example" }],
  ["schema faker", {}],
];
let token;
for (const [mode, options] of modes) {
  const collection = await convert(options);
  collection.item = withoutStreams(collection.item);
  const all = requests(collection.item);
  // How the converter mapped the document's security: Basic on the token route, the bearer
  // token on every API route.
  const tokenRequest = all.find((i) => i.request.url.path?.join("/") === "oauth/token");
  if (!tokenRequest) fail("the collection has no POST /oauth/token");
  const basic = "basic password={{basicAuthPassword}} username={{basicAuthUsername}}";
  if (auth(tokenRequest) !== basic) fail(`${mode}: the token request's auth is ${auth(tokenRequest)}`);
  for (const item of all) {
    const path = item.request.url.path.join("/");
    if (path.startsWith("api/v2/") && path !== "api/v2/openapi.json" && auth(item) !== "bearer token={{bearerToken}}") {
      fail(`${mode}: ${item.request.method} ${path} has auth ${auth(item)}, not the bearer token`);
    }
  }

  if (!token) {
    let answer;
    const summary = await run(collection, environment, tokenRequest.id, (err, response) => {
      answer = { err, code: response?.code, body: response?.stream?.toString() };
    });
    if (summary.run.executions.length !== 1 || answer?.err || answer?.code !== 200) {
      fail(`the collection's token request was not answered with a token: ${JSON.stringify(answer)}`);
    }
    token = JSON.parse(answer.body).access_token;
  }

  const summary = await run(collection, [...environment, { key: "bearerToken", value: token }]);
  const executions = summary.run.executions;
  const problems = [];
  if (executions.length !== all.length) problems.push(`${executions.length} of ${all.length} requests ran`);
  const statuses = {};
  for (const e of executions) {
    const what = `${e.item.request.method} ${e.item.request.url.getPath()}`;
    if (e.requestError) {
      problems.push(`${what}: newman could not send it: ${e.requestError.message}`);
      continue;
    }
    const code = e.response?.code;
    if (!code) problems.push(`${what}: no answer`);
    else if (code === 401 || code === 403 || code >= 500) problems.push(`${what}: ${code} ${e.response.stream}`);
    statuses[code] = (statuses[code] ?? 0) + 1;
  }
  for (const f of summary.run.failures) problems.push(`${f.source?.name ?? "run"}: ${f.error?.message}`);
  if (problems.length) fail(`${mode}:\n  ${problems.join("\n  ")}`);
  console.log(`postman (${mode}): ${executions.length} requests sent, answers ${JSON.stringify(statuses)}`);
}
