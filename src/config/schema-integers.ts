// Integer shapes the config schema's sections share (src/config/schema.ts): a key built on one
// adds only its default and its meaning.
export const positiveInt = { type: 'integer', minimum: 1 } as const;
export const nonNegativeInt = { type: 'integer', minimum: 0 } as const;
