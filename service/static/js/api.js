// The service's JSON API, called like any client. Errors become ApiError with the problem+json `detail`.

export class ApiError extends Error {
  constructor(status, title, detail, problem = null) {
    super(detail);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.problem = problem;
  }

  // One line for people: "422 Limit exceeded: body.alpha: alpha=5000.0; at most 1000.0 is allowed"
  describe() {
    return `${this.status ? `${this.status} ` : ""}${this.title}: ${this.detail}`;
  }
}

async function request(method, path, body, signal) {
  const init = { method, signal, headers: { accept: "application/json, application/problem+json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "Network error", `the service did not answer ${method} ${path} (${err.message})`);
  }
  const type = response.headers.get("content-type") || "";
  if (!response.ok) {
    if (type.startsWith("application/problem+json") || type.startsWith("application/json")) {
      const problem = await response.json().catch(() => null);
      if (problem && typeof problem.detail === "string") {
        throw new ApiError(response.status, problem.title || response.statusText, problem.detail, problem);
      }
    }
    throw new ApiError(response.status, response.statusText || "Error", `${method} ${path} failed`);
  }
  return response.json();
}

export const api = {
  model: () => request("GET", "/v1/model"),
  examples: (category, signal) => request("GET", `/v1/examples?category=${encodeURIComponent(category)}`,
    undefined, signal),
  score: (sketches, topK, signal) => request("POST", "/score", { sketches, top_k: topK }, signal),
  attribute: (sketch, signal) => request("POST", "/attribute", { sketch }, signal),
  enhance: (body, signal) => request("POST", "/enhance", body, signal),
};
