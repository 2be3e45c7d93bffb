/**
 * What a role tells /health/ready about itself: a named check that resolves
 * ok or not. The roles declare it; the health route runs the checks.
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: string }>;
}
