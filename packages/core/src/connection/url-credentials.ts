import { decodeLoosely } from "../config/service-config.js";

/** A remote service's URL split into the URL requests go to and the credentials it held. */
export interface UrlCredentials {
  /** The URL without its `user:password@`: fetch refuses a URL with credentials, and quotes it whole in its error. */
  url: URL;
  /** `Basic base64(user:password)` (percent-escapes decoded) when the URL held credentials. */
  authorization: string | undefined;
}

/**
 * Takes the `user:password@` out of a URL (throws a `TypeError` for one that does not parse). The credentials become an
 * `Authorization: Basic` value, as a browser would send them; a URL with a user and no password (`https://TOKEN@host`)
 * gives `TOKEN:`.
 */
export function splitUrlCredentials(value: string): UrlCredentials {
  const url = new URL(value);
  if (url.username === "" && url.password === "") return { url, authorization: undefined };
  const credentials = `${decodeLoosely(url.username)}:${decodeLoosely(url.password)}`;
  url.username = "";
  url.password = "";
  return { url, authorization: `Basic ${Buffer.from(credentials, "utf8").toString("base64")}` };
}
