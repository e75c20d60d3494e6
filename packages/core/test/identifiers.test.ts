import { describe, expect, it } from "vitest";
import { NAME_PATTERN, publicToolName } from "../src/index.js";
import { disambiguatedToolName } from "../src/identifiers.js";

describe("publicToolName", () => {
  it("joins service and tool with an underscore", () => {
    expect(publicToolName("weather", "get_current")).toBe("weather_get_current");
    expect(publicToolName("weather-api", "get-current")).toBe("weather-api_get-current");
  });

  it("replaces characters providers reject", () => {
    expect(publicToolName("weather.api", "get current/temp")).toBe("weather_api_get_current_temp");
    expect(publicToolName("svc", "北京")).toMatch(NAME_PATTERN);
  });

  it("keeps long names within 64 characters, distinct by a hash", () => {
    const a = publicToolName("a".repeat(40), `${"t".repeat(40)}_one`);
    const b = publicToolName("a".repeat(40), `${"t".repeat(40)}_two`);
    expect(a).toMatch(NAME_PATTERN);
    expect(b).toMatch(NAME_PATTERN);
    expect(a).toHaveLength(64);
    expect(a).not.toBe(b);
  });

  it("gives a colliding tool a distinct valid name", () => {
    const name = disambiguatedToolName("svc", "a.b");
    expect(name).toMatch(NAME_PATTERN);
    expect(name).not.toBe(publicToolName("svc", "a_b"));
  });
});
