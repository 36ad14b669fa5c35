/**
 * A command-line value that cannot be used, said the way the user typed it.
 */
import { Schema } from "effect"

export class InvalidOption extends Schema.TaggedError<InvalidOption>()("InvalidOption", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}
