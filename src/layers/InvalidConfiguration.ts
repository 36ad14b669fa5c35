/**
 * A setting (an environment variable) whose value cannot be used, named with what was expected.
 * A module of its own so that reading a setting does not load every backend's layers.
 */
import { Schema } from "effect"

export class InvalidConfiguration extends Schema.TaggedError<InvalidConfiguration>()("InvalidConfiguration", {
  variable: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message() {
    return `${this.variable}=${this.value} is not valid: expected ${this.expected}`
  }
}
