module example.com/bench/greeter

go 1.22
