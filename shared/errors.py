"""Domain errors. Each carries a stable machine code and a Spanish (es-AR) message for people.

The HTTP status of each class lives in one map, shared.http.STATUS_BY_ERROR.
"""


class DomainError(Exception):
    code = "bad_request"
    message = "La solicitud no es válida."

    def __init__(self, message: str | None = None, *, code: str | None = None, field: str | None = None):
        self.message = message or self.message
        self.code = code or self.code
        self.field = field
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "invalid_input"
    message = "Los datos enviados no son válidos."


class Unauthenticated(DomainError):
    code = "unauthenticated"
    message = "Necesita iniciar sesión para continuar."


class Forbidden(DomainError):
    code = "forbidden"
    message = "No tiene permiso para realizar esta acción."


class NotFound(DomainError):
    code = "not_found"
    message = "No encontramos lo que busca."


class Conflict(DomainError):
    code = "conflict"
    message = "La operación entra en conflicto con el estado actual."


class ConcurrentModification(Conflict):
    code = "concurrent_modification"
    message = "Otra operación modificó estos datos al mismo tiempo. Vuelva a intentarlo."


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    message = "Demasiados intentos fallidos. Espere unos minutos y vuelva a intentarlo."


class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    message = "El cuerpo de la solicitud es demasiado grande."


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    message = "El cuerpo de la solicitud debe ser JSON (Content-Type: application/json)."


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    message = "El servicio no está disponible en este momento. Vuelva a intentarlo en unos minutos."
