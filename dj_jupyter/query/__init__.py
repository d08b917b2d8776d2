"""QueryExpression, operand coercion and fetch: queries as users build and run them."""

__all__: list[str] = []  # a layer folder: import its modules by name
