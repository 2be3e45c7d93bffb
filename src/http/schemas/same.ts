/**
 * Compile-time agreement between a wire schema and the domain's type: the
 * domain declares its own shapes (it imports no schema library), the HTTP
 * layer describes them to clients, and `Check<Same<Static<typeof S>, T>>`
 * stops the build when the two say different things.
 */

/** true when A and B are assignable both ways, else false. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Compiles only when its argument is `true`. */
export type Check<T extends true> = T;
