// placeholder: being implemented
