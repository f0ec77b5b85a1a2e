message(STATUS smoke)
