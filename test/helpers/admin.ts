/** Calls to the admin API with a bearer token. */
export const adminCall = async (
  baseUrl: string,
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> => {
  const headers: Record<string, string> = { 'content-type': 'application/json' }
  if (token) headers.authorization = `Bearer ${token}`
  const init: RequestInit = { method, headers }
  if (body !== undefined) init.body = JSON.stringify(body)
  const res = await fetch(`${baseUrl}/api/admin${path}`, init)
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}
