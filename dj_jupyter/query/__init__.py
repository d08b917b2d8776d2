"""QueryExpression, operand coercion and fetch: queries as users build and run them."""
