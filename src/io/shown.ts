// Values shown in messages: a path or id holding a newline or other control character could
// forge log lines (`dane-hook: ...` on a line of its own); such a value is shown JSON-quoted.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const shownValue = (value: string): string => (CONTROL.test(value) ? JSON.stringify(value) : value);

/** Each line of a message that may hold outside text: control characters inside it escaped. */
// eslint-disable-next-line no-control-regex
export const oneLine = (text: string): string => text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
