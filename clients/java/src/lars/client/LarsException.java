package lars.client;

/**
 * A failure with a stable code: ERR_INVALID_INPUT, ERR_NO_HOST, ERR_TIMEOUT, ERR_REFUSED, ERR_CLOSED (the codes of the
 * TypeScript SDK, src/errors.ts).
 */
public class LarsException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final String code;

  public LarsException(String code, String message) {
    super(message + " [" + code + "]");
    this.code = code;
  }

  public String code() {
    return code;
  }
}
